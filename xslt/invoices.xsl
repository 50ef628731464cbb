<?xml version="1.0" encoding="utf-8"?>
<!--
  ConnectWise unposted invoices (GLExport transactions) → Sage 50 UK product invoices and
  credits, Zynk schema: Company/Customers/Customer and Company/Invoices/Invoice.

  * Id is the document's stable key (CW-INV-<ConnectWise invoice id>), never reused.
  * A document whose total is negative is a ProductCredit; amounts are always positive.
  * ConnectWise writes revenue lines as credits (negative quantity and total); the sign is
    undone. A line whose sign runs against its document (a discount) gets IsNegativeLine.
  * The sales-tax detail line (glTypeId ST) is not an item: Sage computes VAT per line.
  * Lines without an item take the default stock code (S1); nominal and tax codes come from
    the mapping tables in pipelines.yaml, never from literals here.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="_common.xsl"/>
  <xsl:output method="xml" encoding="utf-8" indent="yes"/>

  <xsl:key name="company" match="/cwsage/export/companies/item" use="id"/>
  <xsl:key name="doc-by-company" match="/cwsage/export/transactions/item" use="company/id"/>

  <xsl:template match="/cwsage">
    <Company>
      <Customers>
        <xsl:apply-templates select="export/customers/item[count(key('doc-by-company', company/id)) &gt; 0]"/>
      </Customers>
      <Invoices>
        <xsl:apply-templates select="export/transactions/item"/>
      </Invoices>
    </Company>
  </xsl:template>

  <!-- A GLExport customer → Sage customer record -->
  <xsl:template match="customers/item">
    <xsl:variable name="company" select="key('company', company/id)"/>
    <Customer>
      <Id><xsl:value-of select="concat('CW-CO-', company/id)"/></Id>
      <AccountReference><xsl:call-template name="upper"><xsl:with-param name="value" select="accountNumber"/></xsl:call-template></AccountReference>
      <CompanyName>
        <xsl:call-template name="text"><xsl:with-param name="value" select="company/name"/></xsl:call-template>
      </CompanyName>
      <CustomerInvoiceAddress>
        <xsl:call-template name="address"><xsl:with-param name="company" select="$company"/></xsl:call-template>
        <Country>
          <xsl:choose>
            <xsl:when test="string-length($company/country/identifier) = 2"><xsl:value-of select="$company/country/identifier"/></xsl:when>
            <xsl:otherwise>GB</xsl:otherwise>
          </xsl:choose>
        </Country>
        <Telephone><xsl:call-template name="text"><xsl:with-param name="value" select="$company/phoneNumber"/><xsl:with-param name="max" select="30"/></xsl:call-template></Telephone>
      </CustomerInvoiceAddress>
      <xsl:if test="normalize-space($company/taxIdentifier) != ''">
        <VatNumber><xsl:call-template name="text"><xsl:with-param name="value" select="$company/taxIdentifier"/><xsl:with-param name="max" select="20"/></xsl:call-template></VatNumber>
      </xsl:if>
      <Currency><xsl:value-of select="(currency/currencyCode | currency/isoCode)[1]"/></Currency>
      <xsl:if test="string(number(dueDays)) != 'NaN'"><PaymentDays><xsl:value-of select="dueDays"/></PaymentDays></xsl:if>
    </Customer>
  </xsl:template>

  <!-- A GLExport transaction → Sage product invoice or credit -->
  <xsl:template match="transactions/item">
    <xsl:variable name="company" select="key('company', company/id)"/>
    <xsl:variable name="number" select="normalize-space(documentNumber)"/>
    <Invoice>
      <Id><xsl:value-of select="@key"/></Id>
      <AccountReference><xsl:call-template name="upper"><xsl:with-param name="value" select="companyAccountNumber"/></xsl:call-template></AccountReference>
      <InvoiceType>
        <xsl:choose>
          <xsl:when test="starts-with(normalize-space(total), '-')">ProductCredit</xsl:when>
          <xsl:otherwise>ProductInvoice</xsl:otherwise>
        </xsl:choose>
      </InvoiceType>
      <xsl:if test="string-length($number) &gt; 0 and string-length($number) &lt;= 7 and translate($number, '0123456789', '') = ''">
        <InvoiceNumber><xsl:value-of select="$number"/></InvoiceNumber>
      </xsl:if>
      <InvoiceDate><xsl:call-template name="date"><xsl:with-param name="value" select="documentDate"/></xsl:call-template></InvoiceDate>
      <DueDate><xsl:call-template name="date"><xsl:with-param name="value" select="dueDate"/></xsl:call-template></DueDate>
      <CustomerOrderNumber><xsl:call-template name="text"><xsl:with-param name="value" select="$number"/></xsl:call-template></CustomerOrderNumber>
      <TakenBy><xsl:call-template name="text"><xsl:with-param name="value" select="salesRepName"/></xsl:call-template></TakenBy>
      <Currency><xsl:value-of select="(currency/currencyCode | currency/isoCode)[1]"/></Currency>
      <InvoiceAddress>
        <xsl:call-template name="address">
          <xsl:with-param name="company" select="$company"/>
          <xsl:with-param name="name" select="company/name"/>
        </xsl:call-template>
      </InvoiceAddress>
      <InvoiceItems>
        <xsl:apply-templates select="detail/item[translate(glTypeId, 'st', 'ST') != 'ST' and number(total) != 0]">
          <xsl:with-param name="doc" select="."/>
        </xsl:apply-templates>
      </InvoiceItems>
    </Invoice>
  </xsl:template>

  <!-- A GL detail line → a Sage invoice item -->
  <xsl:template match="detail/item">
    <xsl:param name="doc"/>
    <xsl:variable name="sku">
      <xsl:choose>
        <xsl:when test="normalize-space(item/identifier) != ''"><xsl:value-of select="normalize-space(item/identifier)"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="normalize-space(glItemId)"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="name">
      <xsl:choose>
        <xsl:when test="normalize-space(itemDescription) != ''"><xsl:value-of select="itemDescription"/></xsl:when>
        <xsl:when test="normalize-space(salesDescription) != ''"><xsl:value-of select="salesDescription"/></xsl:when>
        <xsl:when test="normalize-space(description) != ''"><xsl:value-of select="description"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="memo"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="xref">
      <xsl:choose>
        <xsl:when test="normalize-space(taxCodeXref) != ''"><xsl:value-of select="taxCodeXref"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$doc/stateTaxXref"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <Item>
      <Sku>
        <xsl:choose>
          <xsl:when test="$sku != ''"><xsl:call-template name="upper"><xsl:with-param name="value" select="$sku"/></xsl:call-template></xsl:when>
          <xsl:otherwise><xsl:call-template name="setting"><xsl:with-param name="name" select="'default_stock_code'"/></xsl:call-template></xsl:otherwise>
        </xsl:choose>
      </Sku>
      <Name><xsl:call-template name="text"><xsl:with-param name="value" select="$name"/></xsl:call-template></Name>
      <xsl:variable name="more">
        <xsl:choose>
          <xsl:when test="normalize-space(itemDescription) != ''">
            <xsl:call-template name="text"><xsl:with-param name="value" select="salesDescription"/></xsl:call-template>
          </xsl:when>
          <xsl:otherwise>
            <xsl:call-template name="text-rest"><xsl:with-param name="value" select="$name"/></xsl:call-template>
          </xsl:otherwise>
        </xsl:choose>
      </xsl:variable>
      <xsl:if test="normalize-space($more) != ''"><Description><xsl:value-of select="$more"/></Description></xsl:if>
      <xsl:choose>
        <xsl:when test="number(quantity) != 0 and normalize-space(itemPrice) != ''">
          <QtyOrdered><xsl:call-template name="abs"><xsl:with-param name="value" select="quantity"/></xsl:call-template></QtyOrdered>
          <UnitPrice><xsl:call-template name="abs"><xsl:with-param name="value" select="itemPrice"/></xsl:call-template></UnitPrice>
        </xsl:when>
        <xsl:otherwise>
          <QtyOrdered>1</QtyOrdered>
          <UnitPrice><xsl:call-template name="abs"><xsl:with-param name="value" select="total"/></xsl:call-template></UnitPrice>
        </xsl:otherwise>
      </xsl:choose>
      <NominalCode>
        <xsl:choose>
          <xsl:when test="normalize-space(accountNumber) != ''">
            <xsl:call-template name="lookup"><xsl:with-param name="table" select="'nominal_codes'"/><xsl:with-param name="code" select="accountNumber"/></xsl:call-template>
          </xsl:when>
          <xsl:otherwise><xsl:call-template name="setting"><xsl:with-param name="name" select="'default_nominal_code'"/></xsl:call-template></xsl:otherwise>
        </xsl:choose>
      </NominalCode>
      <TaxCode><xsl:call-template name="lookup"><xsl:with-param name="table" select="'tax_codes'"/><xsl:with-param name="code" select="$xref"/></xsl:call-template></TaxCode>
      <xsl:if test="starts-with(normalize-space(total), '-') = starts-with(normalize-space($doc/total), '-')">
        <IsNegativeLine>true</IsNegativeLine>
      </xsl:if>
    </Item>
  </xsl:template>

</xsl:stylesheet>
