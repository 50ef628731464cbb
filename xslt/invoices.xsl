<?xml version="1.0" encoding="utf-8"?>
<!--
  ConnectWise unposted invoices (GLExport transactions) → Sage 50 UK product invoices and
  credits, Zynk schema: Company/Customers/Customer and Company/Invoices/Invoice.

  * Id is the document's stable key (CW-INV-<ConnectWise invoice id>), never reused.
  * Each document arrives resolved (<resolved>, see tasks/resolved.py): its type (SI or SC),
    account, reference and lines with SKU, nominal, Sage tax code and a net equal to the
    ConnectWise line total after discounts. This stylesheet lays those values out; the rules
    that chose them live once, in Python.
  * A line running against its document (a discount) gets IsNegativeLine; amounts are
    positive. Sage computes VAT per line; the money gate checks it against ConnectWise's.
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

  <!-- A GLExport transaction → Sage product invoice or credit, laid out from its resolved form -->
  <xsl:template match="transactions/item">
    <xsl:variable name="company" select="key('company', company/id)"/>
    <xsl:variable name="number" select="normalize-space(resolved/number)"/>
    <Invoice>
      <Id><xsl:value-of select="@key"/></Id>
      <AccountReference><xsl:value-of select="resolved/account"/></AccountReference>
      <InvoiceType>
        <xsl:choose>
          <xsl:when test="resolved/type = 'SC'">ProductCredit</xsl:when>
          <xsl:otherwise>ProductInvoice</xsl:otherwise>
        </xsl:choose>
      </InvoiceType>
      <xsl:if test="string-length($number) &gt; 0 and string-length($number) &lt;= 7 and translate($number, '0123456789', '') = ''">
        <InvoiceNumber><xsl:value-of select="$number"/></InvoiceNumber>
      </xsl:if>
      <InvoiceDate><xsl:call-template name="date"><xsl:with-param name="value" select="resolved/date"/></xsl:call-template></InvoiceDate>
      <DueDate><xsl:call-template name="date"><xsl:with-param name="value" select="resolved/due_date"/></xsl:call-template></DueDate>
      <CustomerOrderNumber><xsl:call-template name="text"><xsl:with-param name="value" select="resolved/reference"/></xsl:call-template></CustomerOrderNumber>
      <TakenBy><xsl:call-template name="text"><xsl:with-param name="value" select="salesRepName"/></xsl:call-template></TakenBy>
      <Currency><xsl:value-of select="resolved/currency"/></Currency>
      <xsl:if test="normalize-space(resolved/exchange_rate) != ''"><ForeignRate><xsl:value-of select="resolved/exchange_rate"/></ForeignRate></xsl:if>
      <InvoiceAddress>
        <xsl:call-template name="address">
          <xsl:with-param name="company" select="$company"/>
          <xsl:with-param name="name" select="company/name"/>
        </xsl:call-template>
      </InvoiceAddress>
      <InvoiceItems>
        <xsl:apply-templates select="resolved/lines/item"/>
      </InvoiceItems>
    </Invoice>
  </xsl:template>

  <!-- A resolved line → a Sage invoice item; its net is ConnectWise's line total -->
  <xsl:template match="resolved/lines/item">
    <Item>
      <Sku><xsl:value-of select="sku"/></Sku>
      <Name><xsl:call-template name="text"><xsl:with-param name="value" select="name"/></xsl:call-template></Name>
      <xsl:variable name="more">
        <xsl:choose>
          <xsl:when test="normalize-space(details) != ''">
            <xsl:call-template name="text"><xsl:with-param name="value" select="details"/></xsl:call-template>
          </xsl:when>
          <xsl:otherwise>
            <xsl:call-template name="text-rest"><xsl:with-param name="value" select="name"/></xsl:call-template>
          </xsl:otherwise>
        </xsl:choose>
      </xsl:variable>
      <xsl:if test="normalize-space($more) != ''"><Description><xsl:value-of select="$more"/></Description></xsl:if>
      <QtyOrdered><xsl:value-of select="qty"/></QtyOrdered>
      <UnitPrice><xsl:value-of select="unit_price"/></UnitPrice>
      <NominalCode><xsl:value-of select="nominal"/></NominalCode>
      <TaxCode><xsl:value-of select="tax_code"/></TaxCode>
      <xsl:if test="negative = 'true'"><IsNegativeLine>true</IsNegativeLine></xsl:if>
    </Item>
  </xsl:template>

</xsl:stylesheet>
