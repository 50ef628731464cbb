<?xml version="1.0" encoding="utf-8"?>
<!--
  ConnectWise received purchases (GLExport purchaseTransactions) → Sage 50 UK purchase
  invoices and credits, Zynk schema: Company/Suppliers/Supplier (one per vendor company) and
  Company/Transactions/Transaction (one split per purchase line, carriage included).

  * A/C: the vendor's account number, else its Vendor Nbr, else the company's Vendor ID.
  * Reference: the supplier's invoice number (else the PO number), at most 10 characters;
    SecondReference: the document's key, so two receipts of one supplier stay apart.
  * A purchase whose total is negative (a return) is a PurchaseCredit; amounts are positive.
  * TaxAmount per split is the line's share of ConnectWise's VAT (cwsageTaxAmount, computed
    in Python with Decimal), so the splits add up to ConnectWise's VAT exactly.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="_common.xsl"/>
  <xsl:output method="xml" encoding="utf-8" indent="yes"/>

  <xsl:key name="company" match="/cwsage/export/companies/item" use="id"/>
  <xsl:key name="doc-by-vendor" match="/cwsage/export/purchaseTransactions/item" use="company/id"/>

  <xsl:template match="/cwsage">
    <Company>
      <Suppliers>
        <xsl:apply-templates select="export/vendors/item[count(key('doc-by-vendor', vendor/id)) &gt; 0]"/>
      </Suppliers>
      <Transactions>
        <xsl:apply-templates select="export/purchaseTransactions/item/purchaseDetail/item[number(total) != 0]"/>
      </Transactions>
    </Company>
  </xsl:template>

  <xsl:template name="account">
    <xsl:param name="primary"/>
    <xsl:param name="secondary"/>
    <xsl:param name="company"/>
    <xsl:variable name="raw">
      <xsl:choose>
        <xsl:when test="normalize-space($primary) != ''"><xsl:value-of select="$primary"/></xsl:when>
        <xsl:when test="normalize-space($secondary) != ''"><xsl:value-of select="$secondary"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$company/vendorIdentifier"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:call-template name="upper"><xsl:with-param name="value" select="$raw"/></xsl:call-template>
  </xsl:template>

  <!-- A vendor company → a Sage supplier -->
  <xsl:template match="vendors/item">
    <xsl:variable name="company" select="key('company', vendor/id)"/>
    <xsl:variable name="doc" select="key('doc-by-vendor', vendor/id)[1]"/>
    <Supplier>
      <Id><xsl:value-of select="concat('CW-VEN-', vendor/id)"/></Id>
      <AccountReference>
        <xsl:call-template name="account">
          <xsl:with-param name="primary" select="$doc/vendorAccountNumber"/>
          <xsl:with-param name="secondary" select="$doc/vendorNumber"/>
          <xsl:with-param name="company" select="$company"/>
        </xsl:call-template>
      </AccountReference>
      <CompanyName><xsl:call-template name="text"><xsl:with-param name="value" select="vendor/name"/></xsl:call-template></CompanyName>
      <SupplierInvoiceAddress>
        <xsl:call-template name="address"><xsl:with-param name="company" select="$company"/></xsl:call-template>
        <Country>
          <xsl:choose>
            <xsl:when test="string-length($company/country/identifier) = 2"><xsl:value-of select="$company/country/identifier"/></xsl:when>
            <xsl:otherwise>GB</xsl:otherwise>
          </xsl:choose>
        </Country>
        <Telephone><xsl:call-template name="text"><xsl:with-param name="value" select="$company/phoneNumber"/><xsl:with-param name="max" select="30"/></xsl:call-template></Telephone>
      </SupplierInvoiceAddress>
      <Currency><xsl:value-of select="($doc/currency/currencyCode | $doc/currency/isoCode)[1]"/></Currency>
      <xsl:if test="string(number(dueDays)) != 'NaN'"><PaymentDays><xsl:value-of select="dueDays"/></PaymentDays></xsl:if>
    </Supplier>
  </xsl:template>

  <!-- A purchase line (goods or carriage) → one split -->
  <xsl:template match="purchaseDetail/item">
    <xsl:variable name="doc" select="../.."/>
    <xsl:variable name="date">
      <xsl:choose>
        <xsl:when test="normalize-space($doc/vendorInvoiceDate) != ''"><xsl:value-of select="$doc/vendorInvoiceDate"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$doc/documentDate"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="xref">
      <xsl:choose>
        <xsl:when test="normalize-space(taxCodeXref) != ''"><xsl:value-of select="taxCodeXref"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$doc/stateTaxXref"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <Transaction>
      <Id><xsl:value-of select="id"/></Id>
      <TransactionType>
        <xsl:choose>
          <xsl:when test="starts-with(normalize-space($doc/total), '-')">PurchaseCredit</xsl:when>
          <xsl:otherwise>PurchaseInvoice</xsl:otherwise>
        </xsl:choose>
      </TransactionType>
      <AccountReference>
        <xsl:call-template name="account">
          <xsl:with-param name="primary" select="$doc/vendorAccountNumber"/>
          <xsl:with-param name="secondary" select="$doc/vendorNumber"/>
          <xsl:with-param name="company" select="key('company', $doc/company/id)"/>
        </xsl:call-template>
      </AccountReference>
      <TransactionDate><xsl:call-template name="date"><xsl:with-param name="value" select="$date"/></xsl:call-template></TransactionDate>
      <Reference>
        <xsl:choose>
          <xsl:when test="normalize-space($doc/vendorInvoiceNumber) != ''"><xsl:value-of select="substring(normalize-space($doc/vendorInvoiceNumber), 1, 10)"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="substring(normalize-space($doc/documentNumber), 1, 10)"/></xsl:otherwise>
        </xsl:choose>
      </Reference>
      <SecondReference><xsl:value-of select="$doc/@key"/></SecondReference>
      <NominalCode><xsl:call-template name="lookup"><xsl:with-param name="table" select="'nominal_codes'"/><xsl:with-param name="code" select="accountNumber"/></xsl:call-template></NominalCode>
      <Details>
        <xsl:call-template name="text">
          <xsl:with-param name="value" select="concat('PO ', $doc/documentNumber, ': ', (itemDescription | description)[normalize-space(.) != ''][1])"/>
        </xsl:call-template>
      </Details>
      <NetAmount><xsl:call-template name="amount"><xsl:with-param name="value" select="total"/></xsl:call-template></NetAmount>
      <TaxCode><xsl:call-template name="lookup"><xsl:with-param name="table" select="'tax_codes'"/><xsl:with-param name="code" select="$xref"/></xsl:call-template></TaxCode>
      <TaxAmount><xsl:call-template name="amount"><xsl:with-param name="value" select="cwsageTaxAmount"/></xsl:call-template></TaxAmount>
      <Currency><xsl:value-of select="($doc/currency/currencyCode | $doc/currency/isoCode)[1]"/></Currency>
    </Transaction>
  </xsl:template>

</xsl:stylesheet>
